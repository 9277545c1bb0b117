DROP TABLE feedback_ratings;
