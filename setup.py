"""`pip install .` for the bnfold Python module, offline, with Debian's
packages only (scripts/setup.sh installs the build dependencies):

    pip install --no-build-isolation .     # in a venv, or add --break-system-packages

--no-build-isolation makes pip use the installed setuptools instead of
downloading one. The extension is built by the project's CMake (target
bnfold_python, in build-pip/, with ccache when present); this file only
hands the result to setuptools.
"""

import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.path.join(ROOT, "build-pip")
        configure = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                     "-DBNFOLD_BUILD_TESTS=OFF", "-DBNFOLD_BUILD_BENCH=OFF",
                     f"-DBNFOLD_PYTHON={sys.executable}"]
        if shutil.which("ccache"):
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", build, "--target", "bnfold_python",
                        "-j", str(os.cpu_count() or 1)], check=True)
        package = os.path.join(build, "python", "bnfold")
        built = [f for f in os.listdir(package) if f.startswith("_bnfold") and f.endswith(".so")]
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(package, built[0]), target)


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(bnfold VERSION ([0-9.]+)", f.read()).group(1)


setup(
    name="bnfold",
    version=version(),
    description="ONNX inference on the CPU that folds BatchNormalization; "
                "onnxruntime's inference API",
    packages=["bnfold"],
    package_dir={"bnfold": "python/bnfold"},
    ext_modules=[CMakeExtension("bnfold._bnfold")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy"],
    zip_safe=False,
)
