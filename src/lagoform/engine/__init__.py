"""lagoform.engine"""
