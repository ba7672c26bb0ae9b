"""The cohort store under faults: write failures (a file-size limit stands in for a full disk), damaged
bytes, missing objects, wrong types, and two processes creating the same store.

Every check compares with an independent reading: h5py for what is on disk, the arrays that were
committed (kept here in numpy) for what a reader returns. A fault must end in an OSError (CLI: one line,
exit status 1) naming the store and the damaged object, never in a crash or in wrong values.
"""
import json
import os
import re
import resource
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import rewire
from rewire import _core
from conftest import AAL, REWIRE_PATH, ROOT, run_cli

REGIONS = 20
TIMEPOINTS = 30
SUBJECTS = [f"sub-{i:02d}" for i in range(1, 5)]
SESSIONS = ["pre", "post"]


def record(subject, session):
    """A run with values fixed by (subject, session): the reference every read is compared with."""
    seed = SUBJECTS.index(subject) * 2 + SESSIONS.index(session)
    rng = np.random.default_rng(seed)
    series = rng.normal(size=(TIMEPOINTS, REGIONS))
    run = _core.RunRecord()
    run.subject, run.session = subject, session
    run.fingerprint = f"fingerprint-{seed}"
    run.inputs = json.dumps({"bold": f"{subject}_{session}.nii.gz"})
    run.checksums = "{}"
    run.timeseries = series
    run.sample_mask = list(range(TIMEPOINTS))
    run.coverage = np.ones(REGIONS)
    run.tr = 2.0
    run.mean_fd = run.mean_dvars = 0.1
    run.frames_total, run.frames_censored = TIMEPOINTS, 0
    run.measures = {"correlation": np.corrcoef(series.T)}
    return run


def header():
    h = _core.StoreHeader()
    h.atlas, h.atlas_checksum, h.options = "atlas.nii.gz", "crc32:0", "{}"
    h.values = list(range(1, REGIONS + 1))
    h.names = [f"region {i}" for i in h.values]
    return h


def write_store(path, runs=None):
    store = _core.CohortStore.open_for_writing(os.fspath(path), header(), "pytest")
    try:
        store.set_text("participants", "participant_id\tgroup\n" + "".join(f"{s}\tA\n" for s in SUBJECTS))
        for subject, session in runs or [(s, ses) for s in SUBJECTS for ses in SESSIONS]:
            store.commit(record(subject, session))
    finally:
        store.close()
    return os.fspath(path)


def upper(matrix):
    return matrix[np.triu_indices(REGIONS, k=1)]


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "study.h5")


# A fresh interpreter reads the whole store: a crash shows as a signal, never hidden by pytest.
READ_EVERYTHING = textwrap.dedent("""
    import sys, numpy as np, rewire
    try:
        with rewire.Cohort.open(sys.argv[1]) as cohort:
            out = {"runs": cohort.runs, "participants": list(cohort.participants.index)}
            for subject, session in cohort.runs:
                out[f"{subject}/{session}"] = cohort.connectome(subject, session).tolist()
                out[f"{subject}/{session}/ts"] = cohort.timeseries(subject, session).tolist()
            for session in cohort.sessions:
                values, subjects = cohort.edges("correlation", session, return_subjects=True)
                out[f"edges/{session}"] = [subjects, values.tolist()]
    except OSError as error:
        print("OSError:", error); sys.exit(1)
    import json; print(json.dumps(out))
""")


def read_everything(path):
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    return subprocess.run([sys.executable, "-c", READ_EVERYTHING, os.fspath(path)], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


def assert_values_are_the_committed_ones(result):
    """What a reader got equals what was committed, value for value."""
    out = json.loads(result.stdout)
    for subject, session in out["runs"]:
        reference = record(subject, session)
        assert np.array_equal(out[f"{subject}/{session}"], reference.measures["correlation"])
        assert np.array_equal(out[f"{subject}/{session}/ts"], reference.timeseries)
    for session in SESSIONS:
        if f"edges/{session}" in out:
            subjects, values = out[f"edges/{session}"]
            for subject, row in zip(subjects, values):
                assert np.array_equal(row, upper(record(subject, session).measures["correlation"]))


def assert_clear_failure(result, path):
    """A fault ends as an OSError naming the store: exit status 1 and one line, never a signal."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    message = (result.stdout + result.stderr).strip()
    assert os.fspath(path) in message, message


# ------------------------------------------------------------------------------ damaged bytes


@pytest.mark.parametrize("offset", range(0, 4096, 256))
def test_64_bytes_of_ff_in_the_first_4_kb_give_an_error_or_the_committed_values(store, offset):
    """The superblock, the root group and the first object headers sit in the first 4 KB: their HDF5
    checksums (format 2) turn damage into an error naming the store; damage to bytes nothing reads
    leaves every value as committed. Format 1 stores crashed HDF5 here (SIGSEGV)."""
    with open(store, "r+b") as handle:
        handle.seek(offset)
        handle.write(b"\xff" * 64)
    result = read_everything(store)
    assert result.returncode in (0, 1), (offset, result.returncode, result.stderr[-2000:])
    if result.returncode == 0:
        assert_values_are_the_committed_ones(result)
    else:
        assert_clear_failure(result, store)
    delta = run_cli("delta", store, "-o", os.path.join(os.path.dirname(store), "delta.tsv"))
    assert delta.returncode in (0, 1) and "Traceback" not in delta.stderr, delta.stderr
    check = run_cli("check", store)
    assert check.returncode in (0, 1) and "Traceback" not in check.stderr, check.stderr


def chunk_offset(path, dataset):
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(0)
        return info.byte_offset, info.size


@pytest.mark.parametrize("dataset, damaged", [
    ("runs/sub-02/pre/connectivity/correlation", [("sub-02", "pre")]),
    ("runs/sub-03/post/timeseries", [("sub-03", "post")]),
    ("edges/correlation/pre/values", [(s, "pre") for s in SUBJECTS]),  # one chunk holds 32 subjects
])
def test_a_flipped_byte_inside_an_array_is_caught_by_its_checksum(store, dataset, damaged):
    offset, size = chunk_offset(store, dataset)
    with open(store, "r+b") as handle:
        handle.seek(offset + size // 2)
        byte = handle.read(1)
        handle.seek(offset + size // 2)
        handle.write(bytes([byte[0] ^ 0x10]))
    result = read_everything(store)
    assert_clear_failure(result, store)
    assert "/" + dataset in result.stdout and "Fletcher32" in result.stdout, result.stdout
    check = run_cli("check", store)
    assert check.returncode == 1, check.stdout + check.stderr
    lines = {tuple(line.split(":")[0].split()[1:3]): line.split()[0] for line in check.stdout.splitlines()}
    for subject in SUBJECTS:
        for session in SESSIONS:
            expected = "damaged" if (subject, session) in damaged else "intact"
            assert lines[(subject, session)] == expected, check.stdout
    assert "/" + dataset in check.stdout


def test_a_truncated_store_is_refused_naming_it(store):
    size = os.path.getsize(store)
    with open(store, "r+b") as handle:
        handle.truncate(size // 2)
    result = read_everything(store)
    assert_clear_failure(result, store)
    assert "truncated" in result.stdout
    check = run_cli("check", store)
    assert check.returncode == 1 and store in check.stderr and "Traceback" not in check.stderr


@pytest.mark.parametrize("victim, reader, expected", [
    ("runs/sub-01/pre/timeseries", lambda c: c.timeseries("sub-01", "pre"), "/runs/sub-01/pre/timeseries is missing"),
    ("runs/sub-01/pre/connectivity", lambda c: c.connectome("sub-01", "pre"),
     "/runs/sub-01/pre/connectivity is missing"),
    ("edges/correlation/post/subjects", lambda c: c.edges("correlation", "post"),
     "/edges/correlation/post/subjects is missing"),
])
def test_a_missing_dataset_or_group_is_named(store, victim, reader, expected):
    with h5py.File(store, "r+") as f:
        del f[victim]
    with rewire.Cohort.open(store) as cohort:
        with pytest.raises(OSError, match=f"^{re.escape(store)}: .*{expected}"):
            reader(cohort)
        table = cohort.check()
    subject, session = ("sub-01", "pre") if victim.startswith("runs") else (None, "post")
    damaged = table[table.status == "damaged"]
    assert len(damaged) == (1 if subject else len(SUBJECTS))
    assert (damaged.session == session).all() and damaged.problem.str.contains(expected).all()


def test_missing_node_tables_are_named_when_the_store_opens(store):
    with h5py.File(store, "r+") as f:
        del f["nodes/names"]
    with pytest.raises(OSError, match=f"^{re.escape(store)}: .*/nodes/names is missing"):
        rewire.Cohort.open(store)
    result = run_cli("delta", store, "-o", os.path.join(os.path.dirname(store), "delta.tsv"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "/nodes/names is missing" in result.stderr


@pytest.mark.parametrize("where, name, value, dtype, expected", [
    ("runs/sub-02/post", "committed", "yes", None, "attribute 'committed' of /runs/sub-02/post is not a single integer"),
    ("/", "format_version", "2", None, "attribute 'format_version' of / is not a single integer"),
    ("/", "participants", b"participant_id\n\xff\xfe\n", "S", "attribute 'participants' of / is not valid UTF-8"),
    ("/", "participants", b"participant_id\n\xc3\n", "vlen", "attribute 'participants' of / is not valid UTF-8"),
    ("/", "atlas", 7, None, "attribute 'atlas' of / is not a single string"),
])
def test_a_wrong_type_or_undecodable_attribute_is_named(store, where, name, value, dtype, expected):
    """The raw UnicodeDecodeError of undecodable text (fixed-length or variable-length strings) and
    attributes of the wrong type become OSErrors naming the store, the object and the attribute."""
    with h5py.File(store, "r+") as f:
        if dtype == "S":
            f[where].attrs.create(name, np.frombuffer(value, dtype=f"S{len(value)}")[0])
        elif dtype == "vlen":
            f[where].attrs.create(name, value, dtype=h5py.string_dtype("utf-8"))
        else:
            f[where].attrs[name] = value
    def read(cohort):
        return cohort.runs, cohort.participants, cohort.check()
    with pytest.raises(OSError, match=f"^{re.escape(store)}: .*{expected}"):
        with rewire.Cohort.open(store) as cohort:
            read(cohort)


def test_an_older_format_opens_and_check_says_it_has_no_checksums(store, tmp_path):
    with h5py.File(store, "r+") as f:
        f.attrs["format_version"] = np.int64(1)
    with rewire.Cohort.open(store) as cohort:
        assert cohort.format_version == 1
        assert np.array_equal(cohort.connectome("sub-01", "pre"), record("sub-01", "pre").measures["correlation"])
    result = run_cli("check", store)
    assert result.returncode == 0 and "made by an older rewire" in result.stderr
    with h5py.File(store, "r+") as f:
        f.attrs["format_version"] = np.int64(3)
    with pytest.raises(ValueError, match="format version 3 is newer"):
        rewire.Cohort.open(store)


def test_check_lists_every_run_intact_and_an_interrupted_one_as_unfinished(store):
    with h5py.File(store, "r+") as f:
        del f["runs/sub-04/post"].attrs["committed"]
    result = run_cli("check", store)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(SUBJECTS) * len(SESSIONS)
    assert sum(line.startswith("intact ") for line in lines) == 7
    assert [line for line in lines if line.startswith("unfinished")][0].startswith("unfinished sub-04 post")
    assert "7 intact, 0 damaged, 1 unfinished" in result.stderr


def test_the_arrays_are_chunked_with_fletcher32_and_the_metadata_is_checksummed(store):
    with h5py.File(store, "r") as f:
        assert f.attrs["format_version"] == 2
        for name in ("runs/sub-01/pre/timeseries", "runs/sub-01/pre/connectivity/correlation",
                     "runs/sub-01/pre/coverage", "runs/sub-01/pre/sample_mask", "nodes/values", "nodes/names",
                     "nodes/coordinates", "edges/correlation/pre/values", "edges/correlation/pre/subjects"):
            assert f[name].fletcher32 and f[name].chunks is not None, name
    with open(store, "rb") as handle:
        assert handle.read(9)[8] >= 2  # superblock version 2 or 3: checksummed


# ------------------------------------------------------------------------------ write failures


def limited(limit):
    """preexec_fn: writes beyond `limit` bytes fail with EFBIG (SIGXFSZ ignored), as on a full disk."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_store_faults import write_store
    write_store(sys.argv[1])
""")


def write_limited(path, limit):
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    return subprocess.run([sys.executable, "-c", WRITER, os.fspath(path), os.path.dirname(__file__)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, preexec_fn=limited(limit))


def committed_on_disk(path):
    """(subject, session) of runs h5py sees committed: an independent reader of the same file."""
    with h5py.File(path, "r", locking=False) as f:
        return sorted((s, ses) for s in f.get("runs", {}) for ses in f["runs"][s]
                      if f["runs"][s][ses].attrs.get("committed", 0) == 1)


# Where writes stop: creating the file, after the header, at the first commit, after 1, 2 and 4 of the 8
# runs (each write first reserves its space: about 0.3 MB for the header, 0.8 MB for a commit).
@pytest.mark.parametrize("limit", [4_000, 300_000, 800_000, 850_000, 880_000, 930_000])
def test_a_write_failure_keeps_every_committed_run_and_a_rerun_resumes(tmp_path, limit):
    """Writes fail at `limit` bytes (creating the store, its header, or any commit): the writer stops with an
    OSError naming the store, HDF5 is closed without writing more, the file opens in h5py and rewire,
    every run committed before reads back exactly, and writing again without the limit completes it."""
    path = tmp_path / "study.h5"
    result = write_limited(path, limit)
    assert result.returncode == 1, result.stderr[-3000:]
    # Stopped where the space is reserved, before HDF5 wrote anything of the failed step.
    assert f"OSError: {path}: no room to " in result.stderr and "File too large" in result.stderr, result.stderr[-3000:]
    leftovers = [name for name in os.listdir(tmp_path) if name != "study.h5"]
    assert leftovers == [], leftovers
    if path.exists():
        before = committed_on_disk(path)
        check = run_cli("check", path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.count("intact ") == len(before)
        read = read_everything(path)
        assert read.returncode == 0, read.stdout + read.stderr
        assert_values_are_the_committed_ones(read)
        assert sorted(map(tuple, json.loads(read.stdout)["runs"])) == before
    write_store(path)  # with space: resumes (each run is committed again, replacing its row in place)
    read = read_everything(path)
    assert read.returncode == 0, read.stderr
    assert sorted(map(tuple, json.loads(read.stdout)["runs"])) == sorted(
        (s, ses) for s in SUBJECTS for ses in SESSIONS)
    assert_values_are_the_committed_ones(read)
    with rewire.Cohort.open(path) as cohort:
        assert cohort.edges("correlation", "pre").shape == (len(SUBJECTS), REGIONS * (REGIONS - 1) // 2)


def test_rewire_run_on_a_full_disk_stops_with_one_line_and_resumes(tmp_path):
    """`rewire run` with a file-size limit: exit status 1, one line naming the store (no traceback), the
    store opens with the runs committed before the failure, and a run with space finishes it with the
    values of an uninterrupted run."""
    from rewire.simulate import SimulationOptions, simulate_study

    derivatives = tmp_path / "derivatives"
    simulate_study(derivatives, SimulationOptions(subjects=2, timepoints=60, resolution=4, seed=3, atlas=AAL))
    reference = tmp_path / "reference.h5"
    assert run_cli("run", derivatives, "-o", reference, "--atlas", AAL, "--workers", "1",
                   "-q").returncode == 0
    size = os.path.getsize(reference)
    output = tmp_path / "out" / "study.h5"
    output.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    arguments = [sys.executable, "-m", "rewire.cli", "run", os.fspath(derivatives), "-o", os.fspath(output),
                 "--atlas", AAL, "--workers", "1", "-q"]
    failed = subprocess.run(arguments, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
                            preexec_fn=limited(size * 3 // 4))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr and failed.stderr.count("\n") == 1, failed.stderr
    assert failed.stderr.startswith(f"rewire run: error: {output}: "), failed.stderr
    assert os.listdir(output.parent) == ["study.h5"]
    before = committed_on_disk(output)
    assert 1 <= len(before) < 8, before
    with rewire.Cohort.open(output) as partial, rewire.Cohort.open(reference) as complete:
        assert partial.runs == before
        for subject, session in before:
            assert np.array_equal(partial.timeseries(subject, session), complete.timeseries(subject, session))
            assert np.array_equal(partial.connectome(subject, session), complete.connectome(subject, session))
    resumed = subprocess.run(arguments, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with rewire.Cohort.open(output) as finished, rewire.Cohort.open(reference) as complete:
        assert finished.runs == complete.runs
        for session in complete.sessions:
            values, subjects = finished.edges("correlation", session, return_subjects=True)
            expected, expected_subjects = complete.edges("correlation", session, return_subjects=True)
            assert subjects == expected_subjects and np.array_equal(values, expected)


# ------------------------------------------------------------------------------ two creators


CREATOR = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[3])
    from test_store_faults import header, record
    from rewire import _core
    print("ready", flush=True)
    while not os.path.exists(sys.argv[2]):
        pass
    try:
        store = _core.CohortStore.open_for_writing(sys.argv[1], header(), "racer")
    except OSError as error:
        print("lost", error, flush=True)
        sys.exit(0)
    store.commit(record(sys.argv[4], "pre"))
    print("won", flush=True)
    sys.stdin.read()  # hold the store until both have spoken
    store.close()
""")


@pytest.mark.parametrize("attempt", range(6))
def test_two_processes_creating_one_store_one_wins_the_other_is_told(tmp_path, attempt):
    path, go = tmp_path / "study.h5", tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=REWIRE_PATH)
    racers = {subject: subprocess.Popen([sys.executable, "-c", CREATOR, os.fspath(path), os.fspath(go),
                                         os.path.dirname(__file__), subject],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env, cwd=ROOT)
              for subject in ("sub-01", "sub-02")}
    try:
        for racer in racers.values():
            assert racer.stdout.readline().strip() == "ready"
        go.touch()
        said = {subject: racer.stdout.readline().strip() for subject, racer in racers.items()}
    finally:
        for racer in racers.values():
            racer.stdin.close()
            racer.wait(timeout=60)
            racer.stdout.close()
            racer.stderr.close()
    winners = [subject for subject, line in said.items() if line == "won"]
    losers = [line for line in said.values() if line.startswith("lost")]
    assert len(winners) == 1 and len(losers) == 1, said
    assert str(path) in losers[0] and ("another process" in losers[0]), losers[0]
    assert all(racer.returncode == 0 for racer in racers.values())
    with rewire.Cohort.open(path) as cohort:
        assert cohort.runs == [(winners[0], "pre")]
        assert np.array_equal(cohort.connectome(winners[0], "pre"),
                              record(winners[0], "pre").measures["correlation"])
    assert sorted(os.listdir(tmp_path)) == ["go", "study.h5"]
