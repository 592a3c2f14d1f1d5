"""The organisation tree: units, their responsible officers and authorised scopes."""
