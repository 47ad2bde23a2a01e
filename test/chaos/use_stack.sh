# Sourced by run.sh and soak.sh: the servers to fault. With STACK_DIR (or CVGATE_STACK_DIR)
# naming a running stack, that one; otherwise a fresh stack under /tmp/cvgate-<name>-stack.*,
# destroyed when the script exits. Sets stack_dir. Needs $root.
use_stack() { # name
    stack_sh=$root/deploy/local/stack.sh
    stack_dir=${STACK_DIR:-${CVGATE_STACK_DIR:-}}
    own_stack=0
    trap 'if ((own_stack)); then STACK_DIR=$stack_dir "$stack_sh" destroy >/dev/null 2>&1 || true; fi' EXIT
    if [[ -z $stack_dir ]] || ! STACK_DIR=$stack_dir "$stack_sh" status >/dev/null 2>&1; then
        stack_dir=$(mktemp -d "/tmp/cvgate-$1-stack.XXXXXX") own_stack=1
        echo "starting a stack in $stack_dir" >&2
        STACK_DIR=$stack_dir "$stack_sh" start >&2
    fi
}
