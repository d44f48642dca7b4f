"""What the community puts on the feed: members' submissions and upvotes, curators' features and pins
(`featuring`, `voting`)."""
