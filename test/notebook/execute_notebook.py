"""Executes a notebook headless with the tslab kernel and writes the executed copy.

    /usr/bin/python3 test/notebook/execute_notebook.py NOTEBOOK OUT [--timeout SECONDS]

Uses Jupyter's own client (nbclient). The tslab kernel spec is written into a temporary
Jupyter data folder (JUPYTER_PATH) pointing at this repository's node_modules/.bin/tslab, so
nothing needs installing and an installed spec is not disturbed. The kernel runs in the
notebook's folder, as in Jupyter. Exit status: 0 when every cell ran, 1 when a cell failed
(its error is printed; the partly executed notebook is still written), 2 on bad arguments.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def write_kernel_spec(data_dir):
    """A tslab kernel spec under data_dir/kernels/tslab, as `tslab install` writes it."""
    tslab = os.path.join(REPO, "node_modules", ".bin", "tslab")
    if not os.path.exists(tslab):
        sys.exit(f"no {tslab}: install the npm packages first")
    spec_dir = os.path.join(data_dir, "kernels", "tslab")
    os.makedirs(spec_dir)
    spec = {
        "argv": [tslab, "kernel", "--config-path", "{connection_file}"],
        "display_name": "TypeScript",
        "language": "typescript",
    }
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump(spec, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("out")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args()

    notebook_path = os.path.abspath(args.notebook)
    nb = nbformat.read(notebook_path, as_version=4)
    data_dir = tempfile.mkdtemp(prefix="layercut-jupyter-")
    failed = False
    started = time.monotonic()
    try:
        write_kernel_spec(data_dir)
        os.environ["JUPYTER_PATH"] = data_dir + os.pathsep + os.environ.get("JUPYTER_PATH", "")
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name="tslab",
            resources={"metadata": {"path": os.path.dirname(notebook_path)}},
        )
        try:
            client.execute()
        except CellExecutionError as error:
            failed = True
            print(str(error).strip(), file=sys.stderr)
            # tslab reports a failing cell on stderr, not as an error message: show that too.
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "stream" and output.get("name") == "stderr":
                        print(output.get("text", ""), file=sys.stderr)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    nbformat.write(nb, args.out)
    print(f"executed {os.path.basename(notebook_path)} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
