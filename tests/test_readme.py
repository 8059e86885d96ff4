"""The README's results tables are generated from results/ and must agree with them."""

from common.report import README, render


def test_readme_tables_match_the_results_folder():
    text = README.read_text()
    assert "<!-- report:" in text
    assert render(text) == text, "README.md is out of date: run python -m common.report"


def test_the_readme_gives_the_test_command_ci_runs():
    assert "&& pytest" in README.read_text()
