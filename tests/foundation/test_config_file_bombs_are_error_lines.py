"""Issue 17, item 8: a hostile or broken config file ends in the error list, never a traceback.

A 342-byte YAML alias bomb used to take ~3 GB and 90 s (expansion, then validation walking every
copy); a non-UTF-8 file or YAML nested 5,000 deep ended in a traceback."""

import resource
from pathlib import Path

import pytest

from statuspage.configfile import ConfigFileError, load_config_file, parse_config

BOMB = "\n".join(
    [f'{chr(97)}: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]" for i in range(1, 9)]) + "\n"


def test_an_alias_bomb_is_refused_before_anything_walks_it():
    assert len(BOMB.encode()) == 342
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigFileError) as err:
        parse_config(BOMB, env={})
    assert err.value.errors == [err.value.errors[0]] and "aliases" in err.value.errors[0]
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100  # was ~3 GB


@pytest.mark.parametrize("text", [
    "page: " + "[" * 5000 + "]" * 5000 + "\n",
    "page:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(1, 3000)) + " " * 6000 + "x: 1\n",
], ids=["flow", "block"])
def test_deep_nesting_is_an_error_line(text):
    with pytest.raises(ConfigFileError) as err:
        parse_config(text, env={})
    assert len(err.value.errors) == 1 and "nested deeper than 50 levels" in err.value.errors[0]
    assert err.value.errors[0].startswith("line ")


def test_a_non_utf8_file_is_an_error_line(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes("page:\n  name: Acme\ncomponents:\n  - {id: api, name: Caf\u00e9}\n".encode("latin-1"))
    with pytest.raises(ConfigFileError) as err:
        load_config_file(str(path))
    assert err.value.errors == ["line 4: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_a_utf8_bom_is_fine_and_so_are_modest_anchors(tmp_path):
    path = tmp_path / "ok.yml"
    text = ("page: {name: Acme}\ncomponents:\n"
            "  - &base {id: api, name: API, checks: [{id: a, kind: tcp, host: h, port: 1, interval: 30s}]}\n"
            "  - {<<: *base, id: web, name: Web, checks: [{id: b, kind: tcp, host: h, port: 2, interval: 30s}]}\n")
    path.write_bytes("\ufeff".encode() + text.encode())
    doc = load_config_file(str(path), env={})
    assert [c.id for c in doc.components] == ["api", "web"]


def test_the_cli_prints_the_error_list_not_a_traceback(runner, tmp_path):
    for name, data in (("bomb.yml", BOMB.encode()), ("deep.yml", ("page: " + "[" * 5000 + "]" * 5000).encode()),
                       ("latin1.yml", b"page: {name: Caf\xe9}\n")):
        path = Path(tmp_path / name)
        path.write_bytes(data)
        out = runner.invoke(args=["config", "check", str(path)])
        assert out.exit_code == 1, (name, out.output)
        assert "error(s)" in out.output and "Traceback" not in out.output, out.output
        assert out.exception is None or isinstance(out.exception, SystemExit)


def _many_checks(n: int) -> str:
    lines = ["page: {name: Big}", "components:"]
    for c in range(0, n, 100):
        lines.append(f"  - id: c{c // 100}\n    name: C{c // 100}\n    checks:")
        lines += [f"      - {{id: k{i}, kind: http, url: 'http://127.0.0.1:9/{i}', interval: 60s, timeout: 5s}}"
                  for i in range(c, min(n, c + 100))]
    return "\n".join(lines) + "\n"


def test_a_big_file_written_out_is_accepted_and_a_bomb_inside_one_is_not():
    text = _many_checks(20_000)  # ≈ 220,000 values, no alias: a real install's size, not an attack
    doc = parse_config(text, env={})
    assert sum(len(c.checks) for c in doc.components) == 20_000
    with pytest.raises(ConfigFileError) as err:
        parse_config(text + "x" + BOMB.replace("\n", "\nx", 8), env={})
    assert "aliases" in err.value.errors[0]
