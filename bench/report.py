"""Result rows and their Markdown tables."""

import statistics


def fmt(value, digits=2):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return "%.0f" % value
    if abs(value) >= 100:
        return "%.1f" % value
    return "%.*f" % (digits, value)


def fmt_gap(gap):
    """A miss is never shown as 0.00."""
    return "%.3f" % gap if gap < 0.01 else fmt(gap)


class TargetRow:
    """One scenario of the targets table: per-run values of the ratio (or
    quantity) that has a target, plus the absolute medians behind it."""

    def __init__(self, scenario, values, target, at_least=True, unit="", columns=None,
                 reference=None, note="", runs=None):
        self.runs = runs
        self.scenario = scenario
        self.values = [v for v in values if v is not None]
        self.target = target
        self.at_least = at_least
        self.unit = unit
        self.columns = columns or {}
        self.reference = reference or []
        self.note = note

    def median(self):
        return statistics.median(self.values) if self.values else None

    def spread(self):
        if not self.values:
            return "-"
        return "%s..%s" % (fmt(min(self.values)), fmt(max(self.values)))

    def target_text(self):
        return ("≥ " if self.at_least else "≤ ") + fmt(self.target, 2) + self.unit

    def verdict(self):
        value = self.median()
        if value is None:
            return "not measured"
        if self.at_least:
            if value >= self.target:
                return "PASS"
            return "MISS by %s%s (%.1f%% below)" % (fmt_gap(self.target - value), self.unit,
                100.0 * (self.target - value) / self.target)
        if value <= self.target:
            return "PASS"
        return "MISS by %s%s (%.1f%% over)" % (fmt_gap(value - self.target), self.unit,
            100.0 * (value - self.target) / self.target)

    def passed(self):
        return self.verdict() == "PASS"


TARGET_HEADER = ("| scenario | crashfs result (median) | spread (min..max) | runs | target "
    "| verdict | native | passthrough_ll | crashfs | passthrough_ll ratio |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n")


def target_table(rows):
    text = TARGET_HEADER
    for row in rows:
        reference = "%s (%s)" % (fmt(statistics.median(row.reference)),
            "%s..%s" % (fmt(min(row.reference)), fmt(max(row.reference)))) \
            if row.reference else "-"
        text += "| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
            row.scenario, fmt(row.median()), row.unit, row.spread(),
            row.runs if row.runs is not None else len(row.values), row.target_text(),
            row.verdict(), row.columns.get("native", "-"), row.columns.get("passthrough_ll", "-"),
            row.columns.get("crashfs", "-"), reference)
    return text


class SwitchRow:
    """One switch on one scenario: per-run ratios of the feature on over the
    feature off, higher = the feature helps (for times: off/on)."""

    def __init__(self, switch, spelling, scenario, ratios, on_value, off_value, unit, runs):
        self.runs = runs
        self.switch = switch
        self.spelling = spelling
        self.scenario = scenario
        self.ratios = ratios
        self.on_value = on_value
        self.off_value = off_value
        self.unit = unit


SWITCH_HEADER = ("| switch | on / off | scenario | speed-up on vs off (median) | spread "
    "| runs | on | off |\n|---|---|---|---|---|---|---|---|\n")


def switch_table(rows):
    text = SWITCH_HEADER
    for row in rows:
        median = statistics.median(row.ratios) if row.ratios else None
        spread = "%s..%s" % (fmt(min(row.ratios)), fmt(max(row.ratios))) if row.ratios else "-"
        text += "| %s | %s | %s | %s | %s | %d | %s %s | %s %s |\n" % (row.switch, row.spelling,
            row.scenario, fmt(median), spread, row.runs, fmt(row.on_value), row.unit,
            fmt(row.off_value), row.unit)
    return text
