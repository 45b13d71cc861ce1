"""The README's runbook has one entry per alarm the program creates, and none for an alarm it does not."""

from __future__ import annotations

import re

from tools.pulumi_mocks import ROOT, Synthesis

SERVICES = ("gateway", "products", "inventory")


def runbook_entries() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Runbook: when an alarm fires", 1)[1].split("\n### ", 1)[0]
    keys: set[str] = set()
    for heading in re.findall(r"^#### (.+)$", section, flags=re.MULTILINE):
        for name in re.findall(r"`stockwiz-<stack>-([a-z0-9<>-]+)`", heading):
            keys |= (
                {name.replace("<service>", service) for service in SERVICES}
                if "<service>" in name
                else {name}
            )
    return keys


def test_every_alarm_has_a_runbook_entry_and_every_entry_an_alarm(synth: Synthesis) -> None:
    prefix = f"stockwiz-{synth.stack}-"
    alarms = {
        r.inputs["name"].removeprefix(prefix) for r in synth.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert len(alarms) >= 16  # the program's alarms, read from the synthesized stack, not from this list
    entries = runbook_entries()
    assert alarms - entries == set(), "alarms without a runbook entry in the README"
    assert entries - alarms == set(), "runbook entries for alarms the program does not create"
