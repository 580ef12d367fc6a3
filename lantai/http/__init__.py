"""The request layer the two HTTP interfaces share: who is asking (bearer token or session),
what they may do (the permission table), CSRF, and the parameter types and responses of items.

It sits beside ``api`` (REST) and ``web`` (pages) so that neither imports the other; like them it
calls only ``services`` and uses ``domain`` types.
"""
