"""Every email template has sample data (services/notify/samples.py) that renders it in every
language it exists in, with exactly the variables it uses: the preview and the check of a stored
override on save rely on it. A new template without a sample fails here."""
from __future__ import annotations

import pytest
from jinja2 import meta

from services.notify.ops import templates
from services.notify.samples import SAMPLES

FILES = sorted(p.name for p in templates.FOLDER.iterdir() if p.suffix in (".txt", ".html"))
PAIRS = sorted((name, language) for name, languages in templates.available().items() for language in languages)


def test_every_template_file_is_a_pair_with_a_sample():
    names = {f.split(".")[0] for f in FILES}
    assert names, "no email templates found"
    assert sorted(names - set(SAMPLES)) == [], "templates without a sample in samples.py"
    assert sorted(set(SAMPLES) - names) == [], "samples of templates that do not exist"
    for f in FILES:  # a .txt without its .html (or the reverse) is not a template
        name, language, suffix = f.rsplit(".", 2)
        assert language in templates.available().get(name, []), f"{f} has no {'html' if suffix == 'txt' else 'txt'} twin"


@pytest.mark.parametrize("name,language", PAIRS)
def test_the_sample_renders_the_template(name, language):
    subject, text, html = templates.render(name, language, templates.sample_of(name, language))
    assert subject.strip() and "\n" not in subject
    assert text.strip() and html.strip()
    # every variable the files use is in the sample, so the check on save knows it
    for source in templates.file_sources(name, language):
        used = meta.find_undeclared_variables(templates._env.parse(source)) - set(templates._env.globals)
        assert used <= set(SAMPLES[name]), f"{name}.{language} uses {sorted(used - set(SAMPLES[name]))}"


@pytest.mark.parametrize("name,language", PAIRS)
def test_the_file_itself_passes_the_check_of_a_stored_override(name, language):
    """What the secretariat starts editing from is accepted as it is."""
    text, html = templates.file_sources(name, language)
    assert templates.check(name, language, text, html) == templates.render(name, language,
                                                                         templates.sample_of(name, language))


def test_a_broken_override_is_refused_with_the_reason():
    text, html = templates.file_sources("submission_ack", "en")
    with pytest.raises(templates.TemplateProblem) as exc:
        templates.check("submission_ack", "en", text.replace("{% endblock %}", "{% endblok %}", 1), html)
    assert "syntax error on line 1" in exc.value.problems["text_source"][0]
    with pytest.raises(templates.TemplateProblem) as exc:
        templates.check("submission_ack", "en", text, html + "{{ mayor }}")
    assert exc.value.problems["html_source"][0].startswith("unknown variable mayor")
    with pytest.raises(templates.TemplateProblem) as exc:
        templates.check("submission_ack", "en", "{% block subject %} {% endblock %}", html)
    assert exc.value.problems["text_source"] == ["missing block {% block text %}"]
    with pytest.raises(templates.TemplateProblem) as exc:
        templates.check("submission_ack", "en", "{% block subject %} {% endblock %}{% block text %}x{% endblock %}", html)
    assert exc.value.problems == {"text_source": ["the subject is empty"]}
    with pytest.raises(templates.TemplateProblem) as exc:  # the sandbox: no way to Python's internals
        templates.check("submission_ack", "en", text, "{{ title.__class__.__mro__ }}")
    assert "html_source" in exc.value.problems
    with pytest.raises(templates.TemplateProblem) as exc:
        templates.check("submission_ack", "en", text, "{{ 'x' * 100000000 }}")
    assert exc.value.problems["html_source"][0].startswith("not allowed")
