"""Node ids of the OPC UA test server (devstack/opcua_server.py) as the tests name them."""

SIM = "ns=2;s=Simulation Examples.Functions."
SIM_URI = "nsu=urn:alertloop:devstack:simulation;s=Simulation Examples.Functions."
PLANT_URI = "nsu=urn:example:plant;s=Plant.TIC101."
PLANT = "nsu=urn:example:plant;s=Plant."
