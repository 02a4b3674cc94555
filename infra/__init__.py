"""Infrastructure every part of the project leans on, each piece in one module: the
client's address (client_ip), failing dependencies (faults), readiness and draining
(readiness), mail (mail), machine-facing URLs' JSON answers (machine) and rate limits
(limits). It imports no app of the project."""
