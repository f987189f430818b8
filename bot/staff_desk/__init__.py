"""The staff desk (工作台): federation staff's browser console under `/desk`, beside the chat and on the same data.

Server-rendered pages (`templates/desk/`), no script of its own: every action is a plain form POST carrying the
session's CSRF token, and goes through the same handlers and workflows as the chat command it mirrors.
"""
