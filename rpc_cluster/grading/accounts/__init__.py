"""Who may use the portal: users, their passwords, sessions and the lockout of failed sign-ins.

``Users.*`` (admins and the service itself) and ``Sessions.*`` (the portal)
over RPC, on the grading service beside ``Grades.*``, in the same database.
"""
