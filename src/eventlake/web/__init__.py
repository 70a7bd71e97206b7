"""The web console (`eventlake serve console`): the admin console over BI usage, web
analytics, the log explorer of saved queries, a SQL editor and the lake's health,
behind a login. See app.py for the security model and pages/ for the pages."""
