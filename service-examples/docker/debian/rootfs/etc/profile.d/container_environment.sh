# Variables of the running container (docker run -e, /etc/my_init.d), for
# `docker exec CONTAINER bash -l`. Written at start-up by /sbin/my_init.
[ -r /etc/container_environment.sh ] && . /etc/container_environment.sh
