"""Azure Functions entry point (Python v2 model): the triggers, each a few lines.

The webhook, queue worker and timers arrive with the Functions issue; the rule language,
rules file and command line they call are in reconciler/.
"""

import azure.functions as func

app = func.FunctionApp()
