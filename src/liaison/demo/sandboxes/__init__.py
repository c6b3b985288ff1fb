"""The loopback peers of the demo and the tests: `dmp` (an XDS.b recipient) and `mail` (an
MSSanté SMTP sink). Not production: they stand for the DMP and the MSSanté operators."""
