#!/usr/bin/python3
"""Makes the Flask-User databases the transfer tests import.

The data models are the Flask-User manual's (v0.6, "User DataModels" and
the "Roles Required App"), declared with Flask-SQLAlchemy, which names the
tables after the classes: user, role, user_roles, user_email. The password
hashes are made the ways Flask-User apps make them: passlib (Flask-User's
hash_password is passlib's CryptContext; bcrypt by default, or any passlib
scheme) and Werkzeug's generate_password_hash.

Run with Debian's Python (python3-flask-sqlalchemy, python3-passlib,
python3-bcrypt, python3-werkzeug 2.2, which has no scrypt), from this directory:

    /usr/bin/python3 make.py

It writes app.db (the all-in-one User model with roles), emails.db (the
UserEmail model: addresses kept apart), auth.db (the separated User/UserAuth
models) and postgres.sql (the DDL
SQLAlchemy emits for app.db's tables on PostgreSQL; the PostgreSQL test
creates the same tables with it and copies app.db's rows into them).
"""
import datetime
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from passlib.context import CryptContext
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from werkzeug.security import generate_password_hash

HERE = os.path.dirname(os.path.abspath(__file__))


def hash_password(scheme, password):
    # Flask-User: CryptContext(schemes=[app.config['USER_PASSWORD_HASH']])
    return CryptContext(schemes=[scheme]).hash(password)


def all_in_one(path):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + path
    db = SQLAlchemy(app)

    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)

        # User authentication information
        username = db.Column(db.String(50), nullable=False, unique=True)
        password = db.Column(db.String(255), nullable=False, server_default='')

        # User email information
        email = db.Column(db.String(255), nullable=False, unique=True)
        confirmed_at = db.Column(db.DateTime())

        # User information
        active = db.Column('is_active', db.Boolean(), nullable=False, server_default='0')
        first_name = db.Column(db.String(100), nullable=False, server_default='')
        last_name = db.Column(db.String(100), nullable=False, server_default='')

        # Relationships
        roles = db.relationship('Role', secondary='user_roles',
                                backref=db.backref('users', lazy='dynamic'))

    class Role(db.Model):
        id = db.Column(db.Integer(), primary_key=True)
        name = db.Column(db.String(50), unique=True)

    class UserRoles(db.Model):
        id = db.Column(db.Integer(), primary_key=True)
        user_id = db.Column(db.Integer(), db.ForeignKey('user.id', ondelete='CASCADE'))
        role_id = db.Column(db.Integer(), db.ForeignKey('role.id', ondelete='CASCADE'))

    confirmed = datetime.datetime(2024, 3, 1, 10, 15, 30, 123456)
    with app.app_context():
        db.create_all()
        secret, agent = Role(name='secret'), Role(name='agent')
        # The manual's example user, with its roles.
        db.session.add(User(username='user007', email='user007@example.com', active=True,
                            password=hash_password('bcrypt', 'Password1'), confirmed_at=confirmed,
                            first_name='James', last_name='Bond', roles=[secret, agent]))
        db.session.add(User(username='sha512', email='sha512@example.com', active=True,
                            password=hash_password('sha512_crypt', 'sha512 password'), roles=[agent]))
        db.session.add(User(username='sha256', email='sha256@example.com', active=True, confirmed_at=confirmed,
                            password=hash_password('sha256_crypt', 'sha256 password')))
        db.session.add(User(username='pbkdf2', email='pbkdf2@example.com', active=True, confirmed_at=confirmed,
                            password=hash_password('pbkdf2_sha512', 'pbkdf2 password')))
        db.session.add(User(username='werkzeug', email='werkzeug@example.com', active=True, confirmed_at=confirmed,
                            password=generate_password_hash('werkzeug password', method='pbkdf2:sha256')))
        db.session.add(User(username='werkzeug512', email='werkzeug512@example.com', active=True, confirmed_at=confirmed,
                            password=generate_password_hash('werkzeug512 password', method='pbkdf2:sha512')))
        db.session.add(User(username='disabled', email='disabled@example.com', active=False, confirmed_at=confirmed,
                            password=hash_password('bcrypt', 'disabled password')))
        # A hash no log-in could match: the import refuses this row.
        db.session.add(User(username='broken', email='broken@example.com', active=True,
                            password='plain text, not a hash'))
        db.session.commit()
        with open(os.path.join(HERE, 'postgres.sql'), 'w') as f:
            f.write('-- The DDL SQLAlchemy %s emits for app.db\'s tables on PostgreSQL (make.py).\n'
                    % __import__('sqlalchemy').__version__)
            for t in db.metadata.sorted_tables:
                f.write(str(CreateTable(t).compile(dialect=postgresql.dialect())).strip() + ';\n\n')


def separate_emails(path):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + path
    db = SQLAlchemy(app)

    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(50), nullable=False, unique=True)
        password = db.Column(db.String(255), nullable=False, default='')
        active = db.Column('is_active', db.Boolean(), nullable=False, server_default='0')
        # Relationship
        user_emails = db.relationship('UserEmail')

    class UserEmail(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.Integer, db.ForeignKey('user.id'))

        # User email information
        email = db.Column(db.String(255), nullable=False, unique=True)
        confirmed_at = db.Column(db.DateTime())
        is_primary = db.Column(db.Boolean(), nullable=False, default=False)

        # Relationship
        user = db.relationship('User', uselist=False)

    confirmed = datetime.datetime(2024, 3, 1, 10, 15, 30)
    with app.app_context():
        db.create_all()
        ann = User(username='ann', active=True, password=hash_password('bcrypt', 'ann password'))
        db.session.add(ann)
        db.session.flush()
        db.session.add(UserEmail(user_id=ann.id, email='ann.old@example.com', confirmed_at=None, is_primary=False))
        db.session.add(UserEmail(user_id=ann.id, email='ann@example.com', confirmed_at=confirmed, is_primary=True))
        db.session.add(UserEmail(user_id=ann.id, email='ann.work@example.com', confirmed_at=confirmed, is_primary=False))
        db.session.commit()


def separate_auth(path):
    # "Separated User/UserAuth DataModel": the password and username in
    # user_auth, the rest in user.
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + path
    db = SQLAlchemy(app)

    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)

        # User email information
        email = db.Column(db.String(255), nullable=False, unique=True)
        confirmed_at = db.Column(db.DateTime())

        # User information
        is_enabled = db.Column(db.Boolean(), nullable=False, default=False)
        first_name = db.Column(db.String(50), nullable=False, default='')
        last_name = db.Column(db.String(50), nullable=False, default='')

    class UserAuth(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.Integer(), db.ForeignKey('user.id', ondelete='CASCADE'))

        # User authentication information
        username = db.Column(db.String(50), nullable=False, unique=True)
        password = db.Column(db.String(255), nullable=False, default='')

        # Relationships
        user = db.relationship('User', uselist=False, foreign_keys=user_id)

    with app.app_context():
        db.create_all()
        bea = User(email='bea@example.com', confirmed_at=datetime.datetime(2024, 3, 1, 10, 15, 30), is_enabled=True,
                   first_name='Bea')
        db.session.add(bea)
        db.session.flush()
        db.session.add(UserAuth(user_id=bea.id, username='bea', password=hash_password('bcrypt', 'bea password')))
        db.session.commit()


for name, make in (('app.db', all_in_one), ('emails.db', separate_emails), ('auth.db', separate_auth)):
    path = os.path.join(HERE, name)
    if os.path.exists(path):
        os.remove(path)
    make(path)
