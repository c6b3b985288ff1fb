"""The project's DMP sandbox: a loopback IHE XDS.b document recipient with a patient view.

It checks each ITI-41 request as the DMP would reject it (MTOM framing, IHE XDS.b schemas,
French LDL-SES metadata, ANS CDA validation, VIHF signature, known patient), answers a
RegistryResponse, stores the documents (idempotent on uniqueId + hash, RPLC deprecates the
previous version) and shows them in a "Mon espace santé" page. dmp-and-mssante.md §7.3.
Run it with `liaison dmp-sandbox --port P [--store DIR] [--patients FILE]`.
"""

from liaison.demo.sandboxes.dmp.server import AnyPatient, Sandbox, SandboxServer, StaticPatients, start
from liaison.demo.sandboxes.dmp.store import Store

__all__ = ["AnyPatient", "Sandbox", "SandboxServer", "StaticPatients", "Store", "start"]
