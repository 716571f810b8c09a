"""bulkdir: keep a WeCom (企业微信) contacts directory in step with spreadsheets."""

__version__ = "0.1.0"
