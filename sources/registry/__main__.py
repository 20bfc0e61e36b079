"""``python -m sources.registry [folder ...]``: print the README's source table (with extra declaration folders)."""
import sys

from . import load_registry

print(load_registry(tuple(sys.argv[1:])).markdown_table())
