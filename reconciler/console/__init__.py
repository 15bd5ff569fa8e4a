"""The operator console: server-rendered HTML pages under /api/console/ (groups, a group's
rule and history, a rule tester over the whole tenant, holds to approve or reject), for
principals that App Service Authentication signed in with the console's app roles."""
