-- The DDL SQLAlchemy 1.4.46 emits for app.db's tables on PostgreSQL (make.py).
CREATE TABLE role (
	id SERIAL NOT NULL, 
	name VARCHAR(50), 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE "user" (
	id SERIAL NOT NULL, 
	username VARCHAR(50) NOT NULL, 
	password VARCHAR(255) DEFAULT '' NOT NULL, 
	email VARCHAR(255) NOT NULL, 
	confirmed_at TIMESTAMP WITHOUT TIME ZONE, 
	is_active BOOLEAN DEFAULT '0' NOT NULL, 
	first_name VARCHAR(100) DEFAULT '' NOT NULL, 
	last_name VARCHAR(100) DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username), 
	UNIQUE (email)
);

CREATE TABLE user_roles (
	id SERIAL NOT NULL, 
	user_id INTEGER, 
	role_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE CASCADE, 
	FOREIGN KEY(role_id) REFERENCES role (id) ON DELETE CASCADE
);

