/* control.c - the daemon's control socket, DIR/control (mode 0600).
 *
 * DESIGN
 * A Unix stream socket, non-blocking, served by the loop between events:
 * one short request a connection ("stop" or "ping"), one line of answer.
 * "stop" only marks the search as stopping; the loop does the rest.
 * petrid_send_stop() is the client side, for `petri stop`.
 */
#include "petrid_impl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int control_addr(struct sockaddr_un *a, const char *dir)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	return snprintf(a->sun_path, sizeof a->sun_path, "%s/control", dir) >= (int)sizeof a->sun_path ? -1 : 0;
}

int pd_control_open(const char *dir, char *err, size_t errlen)
{
	struct sockaddr_un a;
	if (control_addr(&a, dir)) {
		nn_errf(err, errlen, "%s: path too long for a control socket", dir);
		return -1;
	}
	unlink(a.sun_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	mode_t old = umask(077);
	int rc = bind(s, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc || chmod(a.sun_path, 0600) || listen(s, 4)) {
		nn_errf(err, errlen, "%s: cannot listen: %s", a.sun_path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

void pd_control_serve(daemon_t *d)
{
	for (;;) {
		int c = accept(d->sock, NULL, NULL);
		if (c < 0)
			return;
		char buf[64] = "";
		struct pollfd p = { c, POLLIN, 0 };
		if (poll(&p, 1, 200) > 0) {
			ssize_t n = read(c, buf, sizeof buf - 1);
			if (n > 0)
				buf[n] = 0;
		}
		const char *reply = "unknown command\n";
		if (!strncmp(buf, "stop", 4)) {
			pd_stop(d, "stop requested");
			reply = "stopping\n";
		} else if (!strncmp(buf, "ping", 4)) {
			reply = "pong\n";
		}
		ssize_t wr = write(c, reply, strlen(reply));
		(void)wr;
		close(c);
	}
}

void pd_control_close(daemon_t *d)
{
	if (d->sock < 0)
		return;
	struct sockaddr_un a;
	if (!control_addr(&a, d->o->dir))
		unlink(a.sun_path);
	close(d->sock);
	d->sock = -1;
}

int petrid_send_stop(const char *dir, char *err, size_t errlen)
{
	struct sockaddr_un a;
	control_addr(&a, dir);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) {
		nn_errf(err, errlen, "%s: no daemon is running this experiment (%s)", dir, strerror(errno));
		if (s >= 0)
			close(s);
		return PETRID_EINVAL;
	}
	ssize_t w = write(s, "stop\n", 5);
	char buf[64] = "";
	ssize_t n = w == 5 ? read(s, buf, sizeof buf - 1) : -1;
	close(s);
	if (n <= 0 || strncmp(buf, "stopping", 8)) {
		nn_errf(err, errlen, "%s: the daemon did not acknowledge the stop", dir);
		return PETRID_EINVAL;
	}
	return 0;
}
