"""lagoform.sandbox"""
