"""docs/api.md, rendered from the OpenAPI document with the default settings.

``python -m smsdesk.http.openapi_markdown > docs/api.md`` (``make api-docs``) rewrites it; a test
fails when the page and the document differ, so the page cannot go stale.
"""

from __future__ import annotations

from typing import Any

from smsdesk.gws.bounds import InputBounds
from smsdesk.http.openapi import Limits, openapi_document
from smsdesk.operations.services import OperationSettings


def default_document() -> dict[str, Any]:
    settings = OperationSettings()
    return openapi_document(
        Limits(InputBounds(), settings.max_text_length, settings.user_data_limits.max_keys)
    )


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"] if option.get("type") != "null")
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    return kind


def _bounds(schema: dict[str, Any]) -> str:
    options = schema.get("anyOf", [schema])
    parts = []
    for option in options:
        for key, label in (
            ("maxLength", "≤ {} characters"),
            ("maxItems", "≤ {} items"),
            ("maxProperties", "≤ {} keys"),
            ("minimum", "≥ {}"),
            ("maximum", "≤ {}"),
        ):
            if key in option:
                parts.append(label.format(option[key]))
    return ", ".join(parts)


def render(document: dict[str, Any]) -> str:
    lines = [
        "# REST API reference",
        "",
        "Generated from `/api/v2/openapi.json` (default settings) by "
        "`python -m smsdesk.http.openapi_markdown`; a test keeps it current. Behaviour and every "
        "deviation from GWS: [gws-compatibility.md](gws-compatibility.md); bounds: "
        "[reliability.md](reliability.md).",
        "",
        str(document["info"]["description"]),
        "",
        "## Routes",
        "",
        "| method | path | what | parameters | body | statuses |",
        "|---|---|---|---|---|---|",
    ]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            parameters = ", ".join(
                f"`{p['name']}` ({p['in']}{', ' + _bounds(p['schema']) if _bounds(p['schema']) else ''})"
                for p in operation.get("parameters", [])
            )
            body = ""
            if "requestBody" in operation:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                if "oneOf" in schema:
                    body = ", ".join(_type(option) for option in schema["oneOf"])
                else:
                    body = _type(schema)
            statuses = ", ".join(operation["responses"])
            lines.append(
                f"| {method.upper()} | `{path}` | {operation['summary']} | {parameters} | {body} | {statuses} |"
            )
    lines += ["", "## Bodies", ""]
    for name, schema in document["components"]["schemas"].items():
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [" ".join(str(schema["description"]).split()), ""]
        required = set(schema.get("required", []))
        lines += ["| field | type | required | bounds |", "|---|---|---|---|"]
        for field, prop in schema.get("properties", {}).items():
            lines.append(
                f"| `{field}` | {_type(prop)} | {'yes' if field in required else ''} | {_bounds(prop)} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(default_document()), end="")
