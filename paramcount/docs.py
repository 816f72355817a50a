"""The README's layer reference, generated from the registry (a test keeps the README in step).

Run `python -m paramcount.docs` to print it.
"""

from .layers import COMMON, REGISTRY, Field


def _default(field):
    d = field.default
    if d is Field.REQUIRED:
        return "required"
    if isinstance(d, tuple) and len(set(d)) == 1:
        d = d[0]
    if d is None:
        return "none"
    return str(d).lower() if isinstance(d, bool) else str(d)


def reference():
    lines = ["| type | what it does | fields (default) |", "| --- | --- | --- |"]
    for kind in REGISTRY.values():
        fields = "; ".join(
            f"`{f.name}` ({_default(f)})" + (f": {f.doc}" if f.doc else "") for f in kind.fields
        )
        lines.append(f"| `{kind.name}` | {kind.doc} | {fields or '—'} |")
    lines.append("")
    lines.append(f"Every layer also takes {', '.join(f'`{c}`' for c in COMMON)}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
