"""function_app.py imports without settings and declares a v2 FunctionApp."""

import azure.functions as func


def test_function_app_imports_with_no_settings() -> None:
    import function_app

    assert isinstance(function_app.app, func.FunctionApp)
