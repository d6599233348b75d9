"""MCP servers the tests start, written with the `mcp` SDK's MCPServer (FastMCP in 1.x)."""
