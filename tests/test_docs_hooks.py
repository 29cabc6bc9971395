"""docs/plugins.md's hook reference is generated from the hookspecs and must be current."""

from toolkit import docs_hooks


def test_committed_hook_reference_is_current():
    assert docs_hooks.main(["--check"]) == 0, "run: python -m toolkit.docs_hooks --write"


def test_reference_covers_every_hook_and_detects_staleness():
    rendered = docs_hooks.render()
    for fn in docs_hooks.hooks():
        assert f"### `{fn.__name__}(" in rendered
        assert fn.__doc__.strip().splitlines()[0] in rendered
    current = docs_hooks.DOC.read_text()
    stale = current.replace("Register generator classes", "Register generators (old wording)")
    assert docs_hooks.rewrite(stale) == current
