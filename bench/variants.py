"""Bench-only prototypes of cheaper ways to skip the console's middleware at machine URLs
(bench/middleware_cost.py measures them; nothing here is used by the app). Each uses only
Django's documented middleware interface: a factory taking get_response, and the
process_view / process_exception / process_template_response hooks."""

from infra.machine import is_machine_path

HOOKS = ("process_view", "process_exception", "process_template_response")


class MarkMachine:
    """First of all: decide once per request whether its path is machine-facing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.is_machine = is_machine_path(request.path_info)
        return self.get_response(request)


def console_only_flag(middleware):
    """genesis.middleware.console_only, reading the decision MarkMachine made."""

    def __call__(self, request):
        if request.is_machine:
            return self.get_response(request)
        return middleware.__call__(self, request)

    namespace = {"__call__": __call__}
    for hook in HOOKS:
        if hasattr(middleware, hook):
            namespace[hook] = _flagged(getattr(middleware, hook))
    return type(f"Flagged{middleware.__name__}", (middleware,), namespace)


def _flagged(hook):
    def for_console(self, request, *args):
        if request.is_machine:
            return None
        return hook(self, request, *args)

    return for_console


def console_group(*classes):
    """One layer for several adjacent console-only middleware: for a console request, their
    chain (in MIDDLEWARE's order, each built over the next, as Django builds them) and
    their hooks in Django's order; for a machine request, straight to the next layer."""

    class ConsoleGroup:
        def __init__(self, get_response):
            self.get_response = get_response
            handler, self.instances = get_response, []
            for middleware in reversed(classes):
                handler = middleware(handler)
                self.instances.insert(0, handler)
            self.console = handler
            self.views = [m.process_view for m in self.instances if hasattr(m, "process_view")]
            self.templates = [
                m.process_template_response
                for m in reversed(self.instances)
                if hasattr(m, "process_template_response")
            ]
            self.exceptions = [
                m.process_exception
                for m in reversed(self.instances)
                if hasattr(m, "process_exception")
            ]

        def __call__(self, request):
            if is_machine_path(request.path_info):
                return self.get_response(request)
            return self.console(request)

        def process_view(self, request, *args):
            if is_machine_path(request.path_info):
                return None
            for hook in self.views:
                response = hook(request, *args)
                if response is not None:
                    return response
            return None

        def process_template_response(self, request, response):
            if is_machine_path(request.path_info):
                return response
            for hook in self.templates:
                response = hook(request, response)
            return response

        def process_exception(self, request, exception):
            if is_machine_path(request.path_info):
                return None
            for hook in self.exceptions:
                response = hook(request, exception)
                if response is not None:
                    return response
            return None

    return ConsoleGroup
