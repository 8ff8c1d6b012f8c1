"""What the OPC UA bridge and the console's tag mapping share: node ids (`nodeid`), the nodes
file (`nodes_file`), the connection settings (`connection`) and the client with its security
(`client`, `security`). Importing these modules imports no asyncua or cryptography: they are
the extra `opcua`, imported only where a session is opened."""
