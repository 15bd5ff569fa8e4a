"""Keeps Entra ID group memberships in line with dynamic-membership rules.

Nothing heavy is imported here: the Functions worker imports function_app.py (and so this
package) on every cold start, and the webhook must answer within Graph's 3-second limit.
"""
