"""Number formats for Simplified Chinese: Django's own leave big numbers ungrouped ("60000").

Dizhi's pages group thousands with commas, as the command line and the exports'
summaries do and as Chinese spreadsheets and bank statements print them ("60,000").
Everything else (dates, times) comes from Django's zh_Hans formats.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
