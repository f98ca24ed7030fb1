"""The probe agent: runs a location's checks away from the server and reports the results over HTTPS.

``statuspage probe --server URL --location NAME`` (see :mod:`statuspage.probe_agent.agent`) fetches
the checks assigned to its location, probes them on the checks engine (optionally from a chosen
source address), keeps every result in an on-disk buffer (:mod:`statuspage.probe_agent.buffer`) and
posts them to the server in the order they were produced (:mod:`statuspage.probe_agent.client`).
The agent never imports the Flask app or the database: it talks to the server only over its API.
"""
