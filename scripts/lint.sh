#!/usr/bin/env bash
# The checks that keep the tree as it is written; any finding fails:
#  - clang-format (.clang-format) on every C++ and CUDA source;
#  - shellcheck at severity warning on every shell script;
#  - clang-tidy (.clang-tidy) on src/ and hooks/, with the compile commands
#    of a configured build directory.
# Usage: scripts/lint.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/lint.sh BUILD_DIR (a configured build)}
[[ -f $build/compile_commands.json ]] || { echo "lint: no $build/compile_commands.json" >&2; exit 1; }
rc=0

echo "lint: clang-format"
mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp' '*.cu')
clang-format --dry-run --Werror "${cxx[@]}" || rc=1

echo "lint: shellcheck"
# Scripts by name or, without an extension, by their #! line.
mapfile -t sh < <(git ls-files | while read -r f; do
  case $f in
    *.sh) echo "$f" ;;
    *.*) ;;
    *) [[ -f $f ]] && head -n1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$f" ;;
  esac
done)
shellcheck -S warning -x "${sh[@]}" || rc=1

echo "lint: clang-tidy"
# Every translation unit of src/ and hooks/ in the build (headers through
# HeaderFilterRegex); any finding makes run-clang-tidy exit non-zero
# (WarningsAsErrors in .clang-tidy).
run-clang-tidy-14 -quiet -p "$build" -j "$(nproc)" "^$PWD/(src|hooks)/" >"$build/clang-tidy.log" 2>&1 || {
  sed 's/\x1b\[[0-9;]*m//g' "$build/clang-tidy.log" | grep -E ': (warning|error):' | sort -u
  echo "lint: clang-tidy found the above (full output: $build/clang-tidy.log)"
  rc=1
}
exit "$rc"
