/* errors.c - grow_strerror: grow's own codes (-400..-499), and the nn codes
 * that grow passes on as they are. */
#include "grow.h"

const char *grow_strerror(int err)
{
	switch (err) {
	case GROW_OK: return "ok";
	case GROW_EINVAL: return "invalid growth argument or option";
	case GROW_ENOMEM: return "out of memory";
	case GROW_ETOOMANY: return "more than a concat takes, or more than the array given holds";
	case GROW_ENOTARGET: return "no growth target, or nothing to grow it from";
	}
	if (err <= -100 && err > -200)
		return nn_strerror(err);
	return "unknown growth error";
}
