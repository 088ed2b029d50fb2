# Sourced by the entry scripts that take no arguments but --help: `help_only USAGE_FILE "$@"` prints the usage and
# exits 0 on -h/--help, and refuses anything else with one line and the usage (exit 2), as core/commandLine.ts does.
help_only() {
  local usage="$1" arg
  shift
  for arg in "$@"; do
    case "$arg" in
      -h | --help) cat "$usage"; exit 0 ;;
      -*) printf 'error: unknown option %s\n\n' "$arg" >&2; cat "$usage" >&2; exit 2 ;;
      *) printf 'error: unexpected argument %s\n\n' "$arg" >&2; cat "$usage" >&2; exit 2 ;;
    esac
  done
}
