"""Output folders a tool shares with its user: the tool replaces only what it can prove it wrote.

A tool that writes many files into a user's folder (predict.py's .pts, overlays and CSV; an
export) keeps a manifest there, ``.written-by.json``: the tool's name and, for each file it
wrote, that file's sha256. A later run of the same tool may delete exactly those files, and only
while their bytes are still the ones it wrote. A folder that holds anything else (a user's file,
another tool's output, a file edited since) is refused before anything is touched. The folder is
locked for the run, so two runs into one folder cannot interleave.
"""

from __future__ import annotations

import json
from pathlib import Path

from common.data import sha256_of
from common.errors import UserError
from common.files import write_json
from common.runs import LOCK_FILE, check_writable_folder, lock_run_folder

MANIFEST = ".written-by.json"
# Left by this project's own atomic writes and write probes; never a user's file.
_OWN_TEMPORARIES = (".tmp-", ".write-test-")


class OutputFolder:
    """A folder ``tool`` writes into: ``open`` checks and locks it, ``clear`` removes the tool's
    earlier outputs, ``declare`` records names before they are written, ``seal`` their hashes."""

    def __init__(self, path: Path, tool: str, written: dict[str, str | None]):
        self.path, self.tool, self.written = path, tool, written

    @classmethod
    def open(cls, path, *, tool: str) -> OutputFolder:
        path = check_writable_folder(path)
        lock_run_folder(path)
        written = cls._read_manifest(path, tool)
        for entry in sorted(path.iterdir()):
            name = entry.name
            if name in (MANIFEST, LOCK_FILE) or name.startswith(_OWN_TEMPORARIES):
                continue
            if entry.is_symlink() or not entry.is_file() or name not in written:
                raise UserError(f"{path} holds {name}, which {tool} did not write there; give "
                                "an empty or new output folder (nothing was changed)")
            digest = written[name]
            if digest is not None and sha256_of(entry) != digest:
                raise UserError(f"{path}/{name} was changed after {tool} wrote it; move it away "
                                "or give a new output folder (nothing was changed)")
        return cls(path, tool, written)

    @staticmethod
    def _read_manifest(path: Path, tool: str) -> dict[str, str | None]:
        manifest = path / MANIFEST
        if not manifest.exists():
            return {}
        try:
            record = json.loads(manifest.read_text(encoding="utf-8"))
            files = record["files"]
            if record["tool"] != tool or not isinstance(files, dict):
                raise ValueError
        except (OSError, ValueError, KeyError, TypeError):
            raise UserError(f"{manifest} is not a manifest of {tool}; give an empty or new "
                            "output folder (nothing was changed)") from None
        if not all(isinstance(n, str) and "/" not in n and isinstance(d, str | None)
                   for n, d in files.items()):
            raise UserError(f"{manifest} is damaged; give an empty or new output folder")
        return files

    def _save(self) -> None:
        write_json(self.path / MANIFEST, {"tool": self.tool, "files": self.written})

    def clear(self) -> None:
        """Delete the files of the tool's earlier run (checked by ``open``)."""
        for name in list(self.written):
            (self.path / name).unlink(missing_ok=True)
            del self.written[name]
        self._save()

    def declare(self, *names: str) -> list[Path]:
        """Record ``names`` as this tool's before writing them (an interrupted run leaves no
        file it cannot later replace); returns their paths."""
        self.written.update({name: self.written.get(name) for name in names})
        self._save()
        return [self.path / name for name in names]

    def seal(self) -> None:
        """Record the sha256 of every declared file that exists; forget the others."""
        self.written = {name: sha256_of(self.path / name) for name in self.written
                        if (self.path / name).is_file()}
        self._save()
