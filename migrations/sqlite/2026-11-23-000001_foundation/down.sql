DROP TABLE users;
DROP TABLE units;
DROP TABLE categories;
DROP TABLE organisations;
