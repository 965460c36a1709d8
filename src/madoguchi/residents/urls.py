from django.urls import path

from . import views

app_name = "residents"

urlpatterns = [
    path("", views.start, name="start"),
    path("challenge", views.challenge, name="challenge"),
    path("sign-in", views.sign_in, name="sign_in"),
    path("heartbeat", views.heartbeat, name="heartbeat"),
    path("end", views.end, name="end"),
    path("records/", views.records, name="records"),
    path("receipts/<int:completion_id>.pdf", views.receipt, name="receipt"),
    path("notices/<int:notice_id>.pdf", views.notice, name="notice"),
    path("not-me/<str:kind>/<int:item_id>/", views.not_me, name="not_me"),
    path("reported/<uuid:public_id>/", views.reported, name="reported"),
    path("desk-email/<int:completion_id>/", views.desk_email, name="desk_email"),
]
