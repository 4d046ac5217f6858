"""lagoform.dispatch"""
