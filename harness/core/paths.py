"""Where the project's folders are: the reference, the fixtures, the shipped data."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT = PACKAGE_DIR.parent
REFERENCE_DIR = ROOT / "reference"
TEMPLATE_DIR = ROOT / "student_template"
FIXTURES_DIR = ROOT / "fixtures"
MNIST_DIR = PACKAGE_DIR / "data" / "mnist"
DEFAULT_RUBRIC = PACKAGE_DIR / "rubrics" / "default.toml"
