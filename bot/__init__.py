"""chatops: a Slack assistant that works your tickets."""
