from __future__ import annotations

from podbay.core import templates
from podbay.core.devcontainer import config
from podbay.core.devcontainer import plan as dcplan
from podbay.core.devcontainer.plan import BaseImage, PlanContext


def test_each_template_has_a_valid_config_and_a_sample_app() -> None:
    found = {t.name: t for t in templates.all_templates()}
    assert {"python", "node", "go", "rust", "debian"} <= set(found)
    for template in found.values():
        path = template.path / ".devcontainer" / "devcontainer.json"
        loaded = config.load(path)
        assert loaded.warnings == []
        ctx = PlanContext(
            name=template.name,
            local_folder=f"/state/{template.name}",
            config_file=str(path),
            container_name=f"podbay-{template.name}",
            labels={},
            env={},
        )
        resolved = dcplan.resolve(loaded.raw, ctx)
        assert resolved.image is not None
        plan = dcplan.make_plan(resolved, BaseImage(name=resolved.image), [], ctx)
        assert plan.image == template.image
        assert "postCreateCommand" in plan.hooks
        samples = [
            p for p in template.path.rglob("*") if p.is_file() and ".devcontainer" not in p.parts
        ]
        assert samples, f"template {template.name} has no sample app"
