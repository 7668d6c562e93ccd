"""Where each runtime looks for layer content under /opt, as on AWS.

Lambda extracts a function's layers in order into /opt (a later layer's file replaces an
earlier one's) and every runtime finds them on its own search paths, whether or not the
function has layers:

- every runtime: `PATH` ends in /opt/bin, `LD_LIBRARY_PATH` in /opt/lib;
- python: /opt/python/lib/pythonX.Y/site-packages and /opt/python on `sys.path`, right
  after /var/task (the runtime's bootstrap inserts them: see `python_paths`);
- nodejs: `NODE_PATH` = /opt/nodejs/nodeNN/node_modules, /opt/nodejs/node_modules, ...;
- java: /opt/java/lib/* on the class path (`java_classpath`, for the Java family).

Stdlib only and no I/O: faaslab's Python runtime imports this inside the environment.
"""

from __future__ import annotations

OPT = "/opt"
# Lambda's PATH and LD_LIBRARY_PATH, without the /var/lang and /var/runtime entries of
# Amazon Linux's own runtimes (faaslab's runtimes live elsewhere).
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
BASE_LIBRARY_PATH = "/lib64:/usr/lib64"


def variables(runtime: str, task_root: str = "/var/task", opt: str = OPT) -> dict[str, str]:
    """The variables that point into /opt for a function of `runtime` (its own variables
    still win). `opt` is where the layers really are (elsewhere without a mount namespace)."""
    out = {
        "PATH": f"{BASE_PATH}:{opt}/bin",
        "LD_LIBRARY_PATH": f"{BASE_LIBRARY_PATH}:{task_root}:{task_root}/lib:{opt}/lib",
    }
    if runtime.startswith("nodejs"):
        major = runtime.removeprefix("nodejs").split(".")[0]
        out["NODE_PATH"] = ":".join(
            (
                f"{opt}/nodejs/node{major}/node_modules",
                f"{opt}/nodejs/node_modules",
                "/var/runtime/node_modules",
                "/var/runtime",
                task_root,
            )
        )
    return out


def python_paths(runtime: str, opt: str = OPT) -> list[str]:
    """The layer directories Lambda's Python runtime puts on `sys.path` after /var/task,
    in order. The X.Y is the function's runtime's (a layer built for python3.12 keeps its
    packages under python/lib/python3.12/site-packages)."""
    version = runtime.removeprefix("python") if runtime.startswith("python") else ""
    site = [f"{opt}/python/lib/python{version}/site-packages"] if version else []
    return [*site, f"{opt}/python"]


def java_classpath(opt: str = OPT) -> str:
    """The class path entry for the layers' jars: Java expands `dir/*` to every jar in it."""
    return f"{opt}/java/lib/*"
