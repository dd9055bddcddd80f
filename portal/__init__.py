"""The teacher portal: a Bottle app over the grading service.

``portal.app.make_app(...)`` builds the Bottle application; ``portal.service``
registers it in the cluster as ``PortalService`` and serves it.
"""
