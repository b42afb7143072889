# Variables of the running container (docker run -e, image ENV, and what
# /etc/my_init.d scripts published), for `docker exec CONTAINER bash -l`.
# svscan writes the file at boot (svkit-container(7)); mode 0600, so it
# is root's. For any command: docker exec CONTAINER svctl exec -- CMD.
[ -r "${SVKIT_RUNDIR:-/run/svkit}/env.sh" ] && . "${SVKIT_RUNDIR:-/run/svkit}/env.sh"
